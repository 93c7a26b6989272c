from query.desk.auth import main

raise SystemExit(main())
