"""The words of a case, shared by the conversations, the officers' side, reports and sweeps.

Enums of what a case records and their labels (message ids, translated where shown). Nothing here
imports anything of ours but the storage models and the translations.
"""

from __future__ import annotations

from enum import StrEnum

from bot.core.i18n import N_, NP_, OFFICERS, translate_in
from storage.models import CaseKind, CaseStatus, Outcome

KIND_LABELS: dict[CaseKind, str] = {
    CaseKind.MEMBERSHIP: N_("Membership application"),
    CaseKind.WAGES: N_("Unpaid wages"),
    CaseKind.LEGAL: N_("Legal aid"),
    CaseKind.ASSISTANCE: N_("Hardship assistance"),
}


class Trade(StrEnum):
    CONSTRUCTION = "construction"
    MANUFACTURING = "manufacturing"
    MINING = "mining"
    LOGISTICS = "logistics"
    SERVICES = "services"
    DOMESTIC = "domestic"
    AGRICULTURE = "agriculture"
    OTHER = "other"


TRADE_LABELS: dict[Trade, str] = {
    Trade.CONSTRUCTION: N_("Construction"),
    Trade.MANUFACTURING: N_("Factory / manufacturing"),
    Trade.MINING: N_("Mining"),
    Trade.LOGISTICS: N_("Logistics / delivery"),
    Trade.SERVICES: N_("Services (shops, restaurants…)"),
    Trade.DOMESTIC: N_("Domestic work"),
    Trade.AGRICULTURE: N_("Agriculture"),
    Trade.OTHER: N_("Other"),
}


class Problem(StrEnum):
    INJURY = "work_injury"
    DISMISSAL = "dismissal_or_contract"
    INSURANCE = "social_insurance"
    DISEASE = "occupational_disease"
    WAGES = "unpaid_wages"  # never stored: handed over to the wages form
    OTHER = "other"


PROBLEM_LABELS: dict[Problem, str] = {
    Problem.INJURY: N_("Work injury"),
    Problem.DISMISSAL: N_("Dismissal or contract"),
    Problem.INSURANCE: N_("Social insurance"),
    Problem.DISEASE: N_("Occupational disease"),
    Problem.WAGES: N_("Unpaid wages"),
    Problem.OTHER: N_("Other"),
}


class ContactMethod(StrEnum):
    TELEGRAM = "telegram"
    PHONE = "phone"


CONTACT_LABELS: dict[ContactMethod, str] = {
    ContactMethod.TELEGRAM: N_("Message me here in Telegram"),
    ContactMethod.PHONE: N_("Phone call"),
}


class ContactTime(StrEnum):
    ANY = "any"
    DAYTIME = "daytime"
    EVENINGS = "evenings"
    WEEKENDS = "weekends"


TIME_LABELS: dict[ContactTime, str] = {
    ContactTime.ANY: N_("Any time"),
    ContactTime.DAYTIME: N_("Daytime"),
    ContactTime.EVENINGS: N_("Evenings"),
    ContactTime.WEEKENDS: N_("Weekends only"),
}


class Contract(StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


CONTRACT_LABELS: dict[Contract, str] = {
    Contract.YES: N_("Yes, I signed one"),
    Contract.NO: N_("No contract"),
    Contract.UNSURE: N_("Not sure"),
}

# Buttons for the usual answers; anything else is typed. 12 stands for "a year or more".
MONTH_LABELS: dict[int, str] = {
    1: N_("1 month"),
    2: N_("2 months"),
    3: N_("3 months"),
    6: N_("6 months"),
    12: N_("A year or more"),
}


class HelpKind(StrEnum):
    """What hardship assistance a worker asks for."""

    HARDSHIP = "hardship"  # a hardship grant (困难帮扶)
    EDUCATION = "education"  # a grant for a child's schooling (金秋助学)
    MEDICAL = "medical"  # help with medical costs
    EMERGENCY = "emergency"  # a sudden hardship: an accident, losing the job


HELP_LABELS: dict[HelpKind, str] = {
    HelpKind.HARDSHIP: N_("Hardship grant"),
    HelpKind.EDUCATION: N_("School grant for my child"),
    HelpKind.MEDICAL: N_("Help with medical costs"),
    HelpKind.EMERGENCY: N_("Emergency: accident or lost job"),
}


class SchoolLevel(StrEnum):
    PRIMARY = "primary"
    JUNIOR = "junior_secondary"
    SENIOR = "senior_secondary"  # senior secondary or vocational school
    UNIVERSITY = "university"


SCHOOL_LABELS: dict[SchoolLevel, str] = {
    SchoolLevel.PRIMARY: N_("Primary school"),
    SchoolLevel.JUNIOR: N_("Junior secondary"),
    SchoolLevel.SENIOR: N_("Senior secondary or vocational"),
    SchoolLevel.UNIVERSITY: N_("University or college"),
}


class HouseholdCount(StrEnum):
    """How many people of a household: buttons, the last one for three and more."""

    NONE = "0"
    ONE = "1"
    TWO = "2"
    THREE_OR_MORE = "3+"


COUNT_LABELS: dict[HouseholdCount, str] = {
    HouseholdCount.NONE: N_("Nobody"),
    HouseholdCount.ONE: N_("1 person"),
    HouseholdCount.TWO: N_("2 people"),
    HouseholdCount.THREE_OR_MORE: N_("3 or more"),
}


class YesNo(StrEnum):
    YES = "yes"
    NO = "no"


# For "is anyone in the family …?": a plain there is / there is not.
THERE_IS_LABELS: dict[YesNo, str] = {YesNo.YES: N_("Yes, there is"), YesNo.NO: N_("No, nobody")}


# The statuses as officers name them. "resolved", "closed" and "reopened" are the workers' words too,
# worded apart for officers under the OFFICERS msgctxt (办结 and 结案 are trade words).
STATUS_NAMES: dict[CaseStatus, str] = {
    CaseStatus.NEW: N_("new"),
    CaseStatus.ACKNOWLEDGED: N_("taken"),
    CaseStatus.IN_PROGRESS: N_("in progress"),
    CaseStatus.WAITING_FOR_WORKER: N_("waiting for the worker"),
    CaseStatus.RESOLVED: NP_("officers", "resolved"),
    CaseStatus.CLOSED: NP_("officers", "closed"),
    CaseStatus.WITHDRAWN: N_("withdrawn by the worker"),
    CaseStatus.REOPENED: NP_("officers", "reopened"),
}

OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.RECOVERED_FULL: N_("Wages recovered in full"),
    Outcome.RECOVERED_PART: N_("Wages recovered in part"),
    Outcome.NOT_RECOVERED: N_("Wages not recovered"),
    Outcome.REFERRED_INSPECTION: N_("Referred to labour inspection"),
    Outcome.REFERRED_ARBITRATION: N_("Referred to arbitration"),
    Outcome.REFERRED_COURT: N_("Referred to court"),
    Outcome.REFERRED_LEGAL_AID: N_("Referred to a legal-aid centre"),
    Outcome.ADVICE_GIVEN: N_("Advice given, settled"),
    Outcome.MEMBERSHIP_APPROVED: N_("Membership approved"),
    Outcome.MEMBERSHIP_REJECTED: N_("Membership rejected"),
    Outcome.GRANTED: N_("Assistance granted"),
    Outcome.NOT_ELIGIBLE: N_("Not eligible"),
    Outcome.REFERRED_UPWARD: N_("Referred to the union federation"),
}


def status_name_in(language: str, status: CaseStatus) -> str:
    return translate_in(OFFICERS, language, STATUS_NAMES[status])
