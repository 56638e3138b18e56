from evaluations import access


def navigation(request):
    """What the navigation may offer this user (flags from access.py: the templates do not decide)."""
    user = request.user
    return {
        "can_review_pages": access.can_review_pages(user),
        "can_import_official": access.can_import_official(user),
        "can_export_documents": access.can_export_documents(user),
        "can_open_admin": access.can_open_admin(user),
    }
