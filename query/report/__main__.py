from query.ops.report import main

raise SystemExit(main())
