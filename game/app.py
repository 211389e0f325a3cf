"""realm-tui: the game. (The full set of screens grows in game/screens/.)"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="realm-tui", description="Realm of Training: the game.")
    parser.add_argument("--save", metavar="PATH", help="save slot folder (default: $REALM_SAVE, else saves/default)")
    parser.add_argument("--no-daemon", action="store_true", help="do not start the daemon when none runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from game.realm_app import RealmApp

    app = RealmApp(save=args.save, start_daemon=not args.no_daemon)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
