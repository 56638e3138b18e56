from evaluations import access


def roles(request):
    """The user's roles, so navigation shows only what they may open."""
    user = request.user
    names = access.role_names(user) if user.is_authenticated else []
    return {"roles": names, "is_reviewer_or_admin": access.REVIEWER in names or access.ADMIN in names}
