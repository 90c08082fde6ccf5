"""The ``ccnode`` command."""

import click


@click.group()
def main() -> None:
    """ccnode: cross-region court enforcement sync node."""


if __name__ == "__main__":
    main()
