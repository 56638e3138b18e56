"""The choices the framework and the rows share, and their shared field settings (money, scores, non-negative)."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

MONEY = {"max_digits": 14, "decimal_places": 2}
SCORE = {"max_digits": 5, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"), message="不能为负数。")]


class Comparison(models.TextChoices):
    EQUAL = "=", "="
    AT_LEAST = ">=", "≥"
    AT_MOST = "<=", "≤"
    QUALITATIVE = "qualitative", "定性"


class ScoringRule(models.TextChoices):
    PROPORTIONAL = "proportional", "按比例计分"
    DEDUCTION = "deduction", "超限扣分"
    QUALITATIVE = "qualitative", "定性分档"
    MANUAL = "manual", "人工评分"


class QualitativeBand(models.TextChoices):
    ACHIEVED = "achieved", "达成"
    PARTLY = "partly", "部分达成"
    NOT_ACHIEVED = "not_achieved", "未达成"


class ActualSource(models.TextChoices):
    ENTERED = "", "填报"
    BUDGET_EXECUTION_RATE = "budget_execution_rate", "取自预算执行率"
    BUDGET_ADJUSTMENT_RATE = "budget_adjustment_rate", "取自预算调整率"
    BUDGET_BALANCE_RATE = "budget_balance_rate", "取自结转结余率"


class EventAction(models.TextChoices):
    """Every action an event records: the workflow's transitions, and publication (which keeps the status)."""

    SUBMIT = "submit", "提交审核"
    DEPARTMENT_APPROVE = "department_approve", "主管部门审核通过"
    APPROVE = "approve", "审核通过"
    RETURN_FOR_CHANGES = "return_for_changes", "退回修改"
    REOPEN = "reopen", "重新打开"
    PUBLISH = "publish", "公开"
    UNPUBLISH = "unpublish", "撤回公开"


class ContentChannel(models.TextChoices):
    """Through which path an evaluation's content was changed (recorded with every field change, issue 13)."""

    EDIT_PAGE = "edit_page", "填写页面"
    ADMIN = "admin", "系统管理"
    ADMIN_IMPORT = "admin_import", "后台导入"
    OFFICIAL_IMPORT = "official_import", "正式自评表导入"
    CARRY_FORWARD = "carry_forward", "沿用上年"
