from inference_node.cli import main

raise SystemExit(main())
