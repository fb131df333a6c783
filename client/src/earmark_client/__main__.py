from earmark_client.cli import main

raise SystemExit(main())
