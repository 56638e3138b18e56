"""The 自评表 as data: units, the yearly indicator framework, evaluations and their rows, and the record kept
beside them. Scores and totals are never typed twice: rows carry their own 得分, everything above them is summed
by `evaluations.scoring`, and the printed 说明 reads the same numbers.
"""

from evaluations.models.choices import (
    MONEY,
    NON_NEGATIVE,
    SCORE,
    ActualSource,
    Comparison,
    ContentChannel,
    QualitativeBand,
    ScoringRule,
)
from evaluations.models.evaluations import (
    EDITABLE_STATUSES,
    FUNDING_SOURCES,
    REVIEW_STAGES,
    SPENDING_KINDS,
    BudgetItem,
    BudgetLine,
    Evaluation,
    EvaluationManager,
    EvaluationQuerySet,
    EvaluationStatus,
    EvaluationTotals,
    IndicatorResult,
    NarrativeSection,
    SectionKind,
    computed_totals,
    insert_totals,
    section_skeleton,
    store_totals,
)
from evaluations.models.frameworks import Framework, Indicator
from evaluations.models.projects import (
    DimensionKind,
    Project,
    ProjectFramework,
    ProjectIndicator,
    ProjectQuerySet,
    ProjectScoring,
    ProjectTemplateIndicator,
)
from evaluations.models.rechecks import (
    DEFAULT_CONSEQUENCES,
    FINAL_STATES,
    GRADES,
    DeductionReason,
    Recheck,
    RecheckEvent,
    RecheckQuerySet,
    RecheckScore,
    RecheckStatus,
    Rectification,
    RectificationState,
    ReportNarrative,
    ReportPart,
    ResultConsequence,
    consequences_for,
    rectification_evidence_path,
)
from evaluations.models.records import (
    ArchivedDocument,
    ArchivedProjectDocument,
    Event,
    EventAction,
    Evidence,
    FieldChange,
    RenderedDocument,
    ReviewComment,
    archive_path,
    evidence_path,
    rendered_path,
)
from evaluations.models.units import ReviewerCharge, ReviewStage, Unit, UnitQuerySet

__all__ = [
    "MONEY", "NON_NEGATIVE", "SCORE", "ActualSource", "Comparison", "ContentChannel", "QualitativeBand", "ScoringRule",
    "EDITABLE_STATUSES", "REVIEW_STAGES", "FUNDING_SOURCES", "SPENDING_KINDS", "BudgetItem", "BudgetLine", "Evaluation", "EvaluationManager",
    "EvaluationQuerySet", "EvaluationStatus", "EvaluationTotals", "IndicatorResult", "NarrativeSection", "SectionKind",
    "section_skeleton", "computed_totals", "insert_totals", "store_totals", "Framework", "Indicator", "ArchivedDocument", "ArchivedProjectDocument", "Event", "EventAction",
    "Evidence", "FieldChange", "RenderedDocument", "DimensionKind", "Project", "ProjectFramework", "ProjectIndicator",
    "ProjectQuerySet", "ProjectScoring", "ProjectTemplateIndicator", "ReviewComment", "archive_path", "evidence_path",
    "rendered_path", "ReviewerCharge", "ReviewStage", "Unit", "UnitQuerySet",
    "DEFAULT_CONSEQUENCES", "FINAL_STATES", "GRADES", "DeductionReason", "Recheck", "RecheckEvent", "RecheckQuerySet",
    "RecheckScore", "RecheckStatus", "Rectification", "RectificationState", "ReportNarrative", "ReportPart", "ResultConsequence", "consequences_for",
    "rectification_evidence_path",
]
