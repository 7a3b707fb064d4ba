"""Create, list and revoke per-client API tokens.

manage.py api_token create --user alice --name "EHR bridge"   # prints the key once
manage.py api_token list [--user alice]
manage.py api_token revoke 12
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from vcftrack.core.api.models import ApiToken
from vcftrack.core.api.services import token_create, token_revoke
from vcftrack.core.errors import DomainError


class Command(BaseCommand):
    help = "Manage API tokens of REST clients (the key is shown once, stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token and print its key once")
        create.add_argument("--user", required=True, help="username the client acts as")
        create.add_argument("--name", required=True, help="which client uses it")
        create.add_argument(
            "--days", type=int, default=None, help="how long it lasts (API_TOKEN_LIFETIME_DAYS)"
        )
        listing = sub.add_parser("list", help="list tokens (never their keys)")
        listing.add_argument("--user", help="only this user's tokens")
        revoke = sub.add_parser("revoke", help="revoke a token by id")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        action = options["action"]
        if action == "create":
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
            try:
                issued = token_create(
                    user=user, name=options["name"], now=now, lifetime_days=options["days"]
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(f"token {issued.token.pk} for {user.get_username()}: {issued.key}")
            self.stderr.write(
                "Store the key now: it is not shown again. "
                f"It expires on {issued.token.expires_at:%Y-%m-%d}."
            )
        elif action == "list":
            tokens = ApiToken.objects.select_related("user").order_by("pk")
            if options.get("user"):
                tokens = tokens.filter(user__username=options["user"])
            for token in tokens:
                if token.revoked_at:
                    state = f"revoked {token.revoked_at:%Y-%m-%d}"
                elif token.expires_at <= now:
                    state = f"expired {token.expires_at:%Y-%m-%d}"
                else:
                    state = f"active until {token.expires_at:%Y-%m-%d}"
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                self.stdout.write(
                    f"{token.pk}\t{token.user.get_username()}\t{token.name}\t"
                    f"vcf_{token.prefix}_…\t{state}\tlast used {used}"
                )
        else:
            try:
                token = token_revoke(token_id=options["id"], now=now)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"revoked token {token.pk} ({token.name})")
