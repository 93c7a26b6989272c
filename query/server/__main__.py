from query.desk.server import main

raise SystemExit(main())
