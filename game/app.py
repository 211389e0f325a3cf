"""realm-tui: the game (Textual). Starts the daemon of the save when none runs."""

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

    save = args.save
    while True:
        app = RealmApp(save=save, start_daemon=not args.no_daemon)
        app.run()
        if app.switch_to is None:
            return app.return_code or 0
        save = str(app.switch_to)  # "switch save": open the other slot in a fresh app


if __name__ == "__main__":
    sys.exit(main())
