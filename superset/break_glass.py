"""Create or reset the break-glass administrator: the one local user who may sign in with a
password (`/break-glass/`), for when the sign-in provider is down. Everyone else signs in
through the provider («ЕСИА»).

Run inside the Superset environment with SUPERSET_CONFIG_PATH set; the new password is read
from standard input (never from the command line, where other users could see it). `kontingent
superset break-glass` generates one, runs this and prints it once.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kontingent_security as ks  # noqa: E402


def main() -> None:
    password = sys.stdin.readline().strip()
    if len(password) < 16:
        sys.exit("a break-glass password has at least 16 characters")
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        sm = app.appbuilder.sm
        admin = sm.find_role("Admin")
        if admin is None:
            sys.exit("role Admin is missing: run `superset init` first")
        user = sm.find_user(username=ks.BREAK_GLASS_USER)
        if user is None:
            user = sm.add_user(
                username=ks.BREAK_GLASS_USER,
                first_name="Аварийный",
                last_name="администратор",
                email=f"{ks.BREAK_GLASS_USER}@kontingent.invalid",
                role=admin,
                password=password,
            )
            if not user:
                sys.exit("the break-glass user could not be created (see the log)")
            print(f"created {ks.BREAK_GLASS_USER}")
        else:
            sm.reset_password(user.id, password)
            user = sm.find_user(username=ks.BREAK_GLASS_USER)
            user.roles = [admin]
            user.active = True
            sm.update_user(user)
            print(f"reset the password of {ks.BREAK_GLASS_USER}")


if __name__ == "__main__":
    main()
