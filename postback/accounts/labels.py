"""The labels of the users pages (/admin/users) in English and Chinese."""

from __future__ import annotations

USER_LABELS: dict[str, tuple[str, str]] = {
    "users": ("Users", "用户"),
    "users_help": (
        "Personal accounts. Admins change everything; analysts read every partner's data and "
        "change nothing; a partner user sees only its partner's data.",
        "个人账户。管理员可做任何更改；分析师可查看所有合作伙伴的数据但不能更改；"
        "合作伙伴用户只能看到其合作伙伴的数据。",
    ),
    "new_user": ("New user", "新建用户"),
    "create_user": ("Create user", "创建用户"),
    "no_users": (
        "No users yet: only the admin token signs in.",
        "尚无用户：目前只能用管理员令牌登录。",
    ),
    "display_name": ("Display name", "显示名称"),
    "role": ("Role", "角色"),
    "role_admin": ("Admin", "管理员"),
    "role_analyst": ("Analyst", "分析师"),
    "role_partner": ("Partner user", "合作伙伴用户"),
    "user_partner": ("Partner (partner users only)", "合作伙伴（仅合作伙伴用户）"),
    "user_partner_none": ("none", "无"),
    "initial_password": ("Password (optional)", "密码（可选）"),
    "initial_password_help": (
        "At least 12 characters. Leave it empty to get a generated password, shown once.",
        "至少 12 个字符。留空则自动生成密码，仅显示一次。",
    ),
    "last_sign_in": ("Last sign-in", "最近登录"),
    "live_sessions": ("Open sessions", "有效会话"),
    "account_state_active": ("Active", "正常"),
    "account_state_disabled": ("Disabled", "已停用"),
    "disable_user": ("Disable user", "停用用户"),
    "disable_user_confirm": (
        "Disable this user? It is signed out everywhere and cannot sign in.",
        "确定停用该用户？其所有会话将立即结束，且无法再登录。",
    ),
    "enable_user": ("Enable user", "启用用户"),
    "reset_password": ("Reset password", "重置密码"),
    "reset_password_confirm": (
        "Reset this user's password? Its sessions end; the new password is shown once.",
        "确定重置该用户的密码？其所有会话将结束，新密码仅显示一次。",
    ),
    "revoke_sessions": ("Sign out everywhere", "结束所有会话"),
    "revoke_sessions_confirm": (
        "End every session of this user?",
        "确定结束该用户的所有会话？",
    ),
    "new_password_once": (
        "The new password, shown this once: give it to the user now.",
        "新密码仅显示这一次，请立即交给该用户。",
    ),
    "user_created": ("User created.", "用户已创建。"),
    "user_saved": ("Saved.", "已保存。"),
    "user_disabled": ("User disabled; its sessions ended.", "用户已停用，其会话已结束。"),
    "user_enabled": ("User enabled.", "用户已启用。"),
    "password_reset": (
        "Password reset; the user's sessions ended.",
        "密码已重置，该用户的会话已结束。",
    ),
    "sessions_revoked": ("{count} session(s) ended.", "已结束 {count} 个会话。"),
    "back_to_users": ("All users", "所有用户"),
    "user_n": ("User {email}", "用户 {email}"),
}
