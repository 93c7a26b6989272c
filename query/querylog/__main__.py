from query.ops.querylog import main

raise SystemExit(main())
