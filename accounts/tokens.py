"""Tokens for the e-mail confirmation link (邮箱确认).

Django's password-reset token already says what a confirmation link needs: it
is signed, expires after ``PASSWORD_RESET_TIMEOUT``, and stops working once the
user logs in (``last_login`` is part of its hash), so a link serves once. A
salt of its own keeps the two kinds apart: a confirmation link can never reset
a password, nor a reset link activate an account.
"""

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.tokens.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        # is_active too: once the account is active the link is spent, even
        # when nobody logged in with it (an administrator activated it).
        return f"{super()._make_hash_value(user, timestamp)}{int(user.is_active)}"


email_confirmation_token = EmailConfirmationTokenGenerator()
