"""URLs of the accounts pages. Logging in and out and the passwords are Django's own views."""

from django.contrib.auth import views as auth_views
from django.urls import path

from config.ratelimits import limited

from . import views

urlpatterns = [
    path("login/", limited("login")(auth_views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Registration and its confirmation link (注册、邮箱确认)
    path("register/", views.register, name="register"),
    path("register/done/", views.register_done, name="register-done"),
    path("confirm/resend/", views.confirm_resend, name="confirm-resend"),
    path("confirm/resend/done/", views.confirm_resend_done, name="confirm-resend-done"),
    path("confirm/<uidb64>/<token>/", views.confirm_email, name="confirm-email"),
    # Passwords (找回密码、修改密码)
    path("password/reset/", limited("forms")(auth_views.PasswordResetView.as_view()), name="password_reset"),
    path("password/reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # The person's own data, and the unit's people for its research administrator
    path("profile/", views.profile, name="profile"),
    path("unit/members/", views.unit_members, name="unit-members"),
    path("unit/members/confirm/", views.unit_members_confirm, name="unit-members-confirm"),
    path("unit/members/<int:pk>/confirm/", views.unit_member_confirm, name="unit-member-confirm"),
    path("unit/members/<int:pk>/remove/", views.unit_member_remove, name="unit-member-remove"),
]
