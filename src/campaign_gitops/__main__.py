from campaign_gitops.cli import main

raise SystemExit(main())
