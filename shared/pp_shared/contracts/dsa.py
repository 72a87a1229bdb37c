"""EU DSA statement-of-reasons categories and keywords, and where they land in the taxonomy.

A shared contract: ingest maps imported statements of reasons to escalations with it, and
the classifier's taxonomy validates its DSA keys against it (a test checks that every
default clause exists in the current taxonomy). The enumerations are embedded so that a
schema change upstream shows up as a reviewed diff.

Source: European Commission - DG CONNECT, "Digital Services Act Transparency Database"
(https://doi.org/10.2906/134353607485211), keys from app/Models/Statement.php and the keyword
hierarchy from resources/markdown/additional-explanation-for-statement-attributes.md
(section 16) at commit 69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b. (c) European Union,
licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Changes: only the
category and keyword enumerations are kept; the mapping to PolicyPulse clauses is ours.

The API submits enum KEYS (``STATEMENT_CATEGORY_...``, ``KEYWORD_...``), so keys are what is
validated and mapped; labels are kept for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

DSA_SOURCE: Final = (
    "European Commission - DG CONNECT, Digital Services Act Transparency Database, "
    "https://doi.org/10.2906/134353607485211, commit 69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b; "
    "(c) European Union, CC BY 4.0"
)

# Current ``category`` enum (key -> label).
DSA_CATEGORIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "STATEMENT_CATEGORY_ANIMAL_WELFARE": "Animal welfare",
        "STATEMENT_CATEGORY_CONSUMER_INFORMATION": "Consumer information infringements",
        "STATEMENT_CATEGORY_CYBER_VIOLENCE": "Cyber violence",
        "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": "Cyber violence against women",
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": (
            "Data protection and privacy violations"
        ),
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": "Illegal or harmful speech",
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": (
            "Intellectual property infringements"
        ),
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": (
            "Negative effects on civic discourse or elections"
        ),
        "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE": (
            "Type of alleged illegal content not specified by the notifier"
        ),
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": (
            "Other violation of provider\u2019s terms and conditions"
        ),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": "Protection of minors",
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": "Risk for public security",
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": "Scams and/or fraud",
        "STATEMENT_CATEGORY_SELF_HARM": "Self-harm",
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": (
            "Unsafe, non-compliant or prohibited products"
        ),
        "STATEMENT_CATEGORY_VIOLENCE": "Violence",
    }
)

# ``category`` keys valid in 2023-08..2025-06 and still present in historic dumps.
DSA_LEGACY_CATEGORIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR": "Non-consensual behaviour",
        "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT": "Pornography or sexualized content",
        "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE": "Scope of platform service",
        "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS": "Unsafe and/or illegal products",
    }
)

# Current ``category_specification`` enum (key -> label).
DSA_KEYWORDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "KEYWORD_ADULT_SEXUAL_MATERIAL": "Adult sexual material",
        "KEYWORD_AGE_SPECIFIC_RESTRICTIONS": "Age-specific restrictions",
        "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS": "Age-specific restrictions concerning minors",
        "KEYWORD_ANIMAL_HARM": "Animal harm",
        "KEYWORD_BIOMETRIC_DATA_BREACH": "Biometric data breach",
        "KEYWORD_BULLYING_AGAINST_GIRLS": "Cyber bullying and intimidation against girls",
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL": "Child sexual abuse material",
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE": (
            "Child sexual abuse material containing deepfake or similar technology"
        ),
        "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS": "Content promoting eating disorders",
        "KEYWORD_COORDINATED_HARM": "Coordinated harm",
        "KEYWORD_COPYRIGHT_INFRINGEMENT": "Copyright infringements",
        "KEYWORD_CYBER_BULLYING_INTIMIDATION": "Cyber bullying and intimidation",
        "KEYWORD_CYBER_HARASSMENT": "Cyber harassment",
        "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN": "Cyber harassment against women",
        "KEYWORD_CYBER_INCITEMENT": "Cyber incitement to hatred or violence",
        "KEYWORD_CYBER_STALKING": "Cyber stalking",
        "KEYWORD_CYBER_STALKING_AGAINST_WOMEN": "Cyber stalking against women",
        "KEYWORD_DATA_FALSIFICATION": "Data falsification",
        "KEYWORD_DEFAMATION": "Defamation",
        "KEYWORD_DESIGN_INFRINGEMENT": "Design infringements",
        "KEYWORD_DISCRIMINATION": "Discrimination",
        "KEYWORD_FEMALE_GENDERED_DISINFORMATION": "Gendered disinformation",
        "KEYWORD_GEOGRAPHICAL_REQUIREMENTS": "Geographical requirements",
        "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT": "Geographic indications infringements",
        "KEYWORD_GOODS_SERVICES_NOT_PERMITTED": (
            "Goods/services not permitted to be offered on the platform"
        ),
        "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS": "Grooming/sexual enticement of minors",
        "KEYWORD_HATE_SPEECH": (
            "Illegal incitement to violence and hatred based on protected characteristics (hate "
            "speech)"
        ),
        "KEYWORD_HIDDEN_ADVERTISEMENT": (
            "Hidden advertisement or commercial communication, including by influencers"
        ),
        "KEYWORD_HUMAN_EXPLOITATION": "Human exploitation",
        "KEYWORD_HUMAN_TRAFFICKING": "Human trafficking",
        "KEYWORD_ILLEGAL_ORGANIZATIONS": "Illegal organizations",
        "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING": "Impersonation or account hijacking",
        "KEYWORD_INAUTHENTIC_ACCOUNTS": "Inauthentic accounts",
        "KEYWORD_INAUTHENTIC_LISTINGS": "Inauthentic listings",
        "KEYWORD_INAUTHENTIC_USER_REVIEWS": "Inauthentic user reviews",
        "KEYWORD_INCITEMENT_AGAINST_WOMEN": (
            "Illegal incitement to violence and hatred against women"
        ),
        "KEYWORD_INCITEMENT_VIOLENCE_HATRED": (
            "General calls or incitement to violence and/or hatred"
        ),
        "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS": "Insufficient information on traders",
        "KEYWORD_LANGUAGE_REQUIREMENTS": "Language requirements",
        "KEYWORD_MISINFORMATION_DISINFORMATION": (
            "Misinformation, disinformation, foreign information manipulation and interference"
        ),
        "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS": (
            "Misleading information about the consumer's rights"
        ),
        "KEYWORD_MISLEADING_INFO_GOODS_SERVICES": (
            "Misleading information about the characteristics of the goods and services"
        ),
        "KEYWORD_MISSING_PROCESSING_GROUND": "Missing processing ground for data",
        "KEYWORD_NONCOMPLIANCE_PRICING": "Non-compliance with pricing regulations",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING": (
            "Non-consensual (intimate) material sharing, including (image-based) sexual abuse "
            "(excluding content depicting minors)"
        ),
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN": (
            "Non-consensual (intimate) material sharing against women, including (image-based) "
            "sexual abuse against women (excluding content depicting minors)"
        ),
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE": (
            "Non-consensual sharing of material containing deepfake or similar technology using a "
            "third party's features (excluding content depicting minors)"
        ),
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN": (
            "Non-consensual sharing of material containing deepfake or similar technology using a "
            "third party's features against women (excluding content depicting minors)"
        ),
        "KEYWORD_NUDITY": "Nudity",
        "KEYWORD_OTHER": "Not captured by any other keyword",
        "KEYWORD_PATENT_INFRINGEMENT": "Patent infringements",
        "KEYWORD_PHISHING": "Phishing",
        "KEYWORD_PROHIBITED_PRODUCTS": "Prohibited or restricted products",
        "KEYWORD_PYRAMID_SCHEMES": "Pyramid schemes",
        "KEYWORD_RIGHT_TO_BE_FORGOTTEN": "Right to be forgotten",
        "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE": "Risk for environmental damage",
        "KEYWORD_RISK_PUBLIC_HEALTH": "Risk for public health",
        "KEYWORD_SELF_MUTILATION": "Self-mutilation",
        "KEYWORD_STALKING": "Stalking",
        "KEYWORD_SUICIDE": "Suicide",
        "KEYWORD_TERRORIST_CONTENT": "Terrorist content",
        "KEYWORD_TRADEMARK_INFRINGEMENT": "Trademark infringements",
        "KEYWORD_TRADE_SECRET_INFRINGEMENT": "Trade secret infringements",
        "KEYWORD_TRAFFICKING_WOMEN_GIRLS": "Trafficking in women and girls",
        "KEYWORD_UNLAWFUL_SALE_ANIMALS": "Unlawful sale of animals",
        "KEYWORD_UNSAFE_CHALLENGES": "Unsafe challenges",
        "KEYWORD_UNSAFE_PRODUCTS": "Unsafe or non-compliant products",
        "KEYWORD_VIOLATION_EU_LAW": "Violation of EU law relevant to civic discourse or elections",
        "KEYWORD_VIOLATION_NATIONAL_LAW": (
            "Violation of national law relevant to civic discourse or elections"
        ),
    }
)

# ``category_specification`` keys of the first schema version.
DSA_LEGACY_KEYWORDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "KEYWORD_DANGEROUS_TOYS": "Dangerous toys",
        "KEYWORD_DISINFORMATION": "Disinformation",
        "KEYWORD_FOREIGN_INFORMATION_MANIPULATION": (
            "Foreign information manipulation and interference"
        ),
        "KEYWORD_GENDER_BASED_VIOLENCE": "Gender-based violence",
        "KEYWORD_IMAGE_BASED_SEXUAL_ABUSE": (
            "Image-based sexual abuse (excluding content depicting minors)"
        ),
        "KEYWORD_INSUFFICIENT_INFORMATION_TRADERS": "Insufficient information on traders",
        "KEYWORD_MISINFORMATION": "Misinformation",
        "KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE": (
            "Non-consensual items containing deepfake or similar technology using a third "
            "party\u2019s features"
        ),
        "KEYWORD_ONLINE_BULLYING_INTIMIDATION": "Online bullying/intimidation",
        "KEYWORD_REGULATED_GOODS_SERVICES": "Regulated goods and services",
    }
)

# Keywords each current category lists in the documented hierarchy. KEYWORD_OTHER is
# documented under no category and KEYWORD_STALKING under none at all, so neither appears.
DSA_KEYWORDS_BY_CATEGORY: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "STATEMENT_CATEGORY_ANIMAL_WELFARE": frozenset(
            {"KEYWORD_ANIMAL_HARM", "KEYWORD_UNLAWFUL_SALE_ANIMALS"}
        ),
        "STATEMENT_CATEGORY_CONSUMER_INFORMATION": frozenset(
            {
                "KEYWORD_HIDDEN_ADVERTISEMENT",
                "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
                "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
                "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
                "KEYWORD_NONCOMPLIANCE_PRICING",
            }
        ),
        "STATEMENT_CATEGORY_CYBER_VIOLENCE": frozenset(
            {
                "KEYWORD_CYBER_BULLYING_INTIMIDATION",
                "KEYWORD_CYBER_HARASSMENT",
                "KEYWORD_CYBER_INCITEMENT",
                "KEYWORD_CYBER_STALKING",
                "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
                "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
            }
        ),
        "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": frozenset(
            {
                "KEYWORD_BULLYING_AGAINST_GIRLS",
                "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
                "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
                "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
                "KEYWORD_INCITEMENT_AGAINST_WOMEN",
                "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
                "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
            }
        ),
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": frozenset(
            {
                "KEYWORD_BIOMETRIC_DATA_BREACH",
                "KEYWORD_DATA_FALSIFICATION",
                "KEYWORD_MISSING_PROCESSING_GROUND",
                "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
            }
        ),
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": frozenset(
            {"KEYWORD_DEFAMATION", "KEYWORD_DISCRIMINATION", "KEYWORD_HATE_SPEECH"}
        ),
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": frozenset(
            {
                "KEYWORD_COPYRIGHT_INFRINGEMENT",
                "KEYWORD_DESIGN_INFRINGEMENT",
                "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
                "KEYWORD_PATENT_INFRINGEMENT",
                "KEYWORD_TRADEMARK_INFRINGEMENT",
                "KEYWORD_TRADE_SECRET_INFRINGEMENT",
            }
        ),
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": frozenset(
            {
                "KEYWORD_MISINFORMATION_DISINFORMATION",
                "KEYWORD_VIOLATION_EU_LAW",
                "KEYWORD_VIOLATION_NATIONAL_LAW",
            }
        ),
        "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE": frozenset(),
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": frozenset(
            {
                "KEYWORD_ADULT_SEXUAL_MATERIAL",
                "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
                "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
                "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
                "KEYWORD_LANGUAGE_REQUIREMENTS",
                "KEYWORD_NUDITY",
            }
        ),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": frozenset(
            {
                "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
                "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
                "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
                "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
                "KEYWORD_UNSAFE_CHALLENGES",
            }
        ),
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": frozenset(
            {
                "KEYWORD_ILLEGAL_ORGANIZATIONS",
                "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
                "KEYWORD_RISK_PUBLIC_HEALTH",
                "KEYWORD_TERRORIST_CONTENT",
            }
        ),
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": frozenset(
            {
                "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
                "KEYWORD_INAUTHENTIC_ACCOUNTS",
                "KEYWORD_INAUTHENTIC_LISTINGS",
                "KEYWORD_INAUTHENTIC_USER_REVIEWS",
                "KEYWORD_PHISHING",
                "KEYWORD_PYRAMID_SCHEMES",
            }
        ),
        "STATEMENT_CATEGORY_SELF_HARM": frozenset(
            {
                "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
                "KEYWORD_SELF_MUTILATION",
                "KEYWORD_SUICIDE",
            }
        ),
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": frozenset(
            {"KEYWORD_PROHIBITED_PRODUCTS", "KEYWORD_UNSAFE_PRODUCTS"}
        ),
        "STATEMENT_CATEGORY_VIOLENCE": frozenset(
            {
                "KEYWORD_COORDINATED_HARM",
                "KEYWORD_HUMAN_EXPLOITATION",
                "KEYWORD_HUMAN_TRAFFICKING",
                "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
                "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
            }
        ),
    }
)


class DsaDefault(NamedTuple):
    """Where an imported statement of reasons lands when nothing more specific is known.

    ``nearest_fit`` is true when the DSA category lies mostly outside the four high-harm areas:
    the clause is then only the closest home, and tags derived from it deserve low confidence.
    """

    area: str
    clause_id: str
    nearest_fit: bool


# Every current and legacy category has a default, so historic dumps import without gaps.
DSA_CATEGORY_DEFAULTS: Final[Mapping[str, DsaDefault]] = MappingProxyType(
    {
        "STATEMENT_CATEGORY_ANIMAL_WELFARE": DsaDefault("VBDA", "VBDA.ANIMAL_CRUELTY", False),
        # Misleading offers and hidden advertising are deception for gain, the closest high-harm
        # home; most of this category is consumer law that the taxonomy does not cover.
        "STATEMENT_CATEGORY_CONSUMER_INFORMATION": DsaDefault("INA", "INA.SCAMS", True),
        "STATEMENT_CATEGORY_CYBER_VIOLENCE": DsaDefault("VBDA", "VBDA.THREATS", False),
        "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": DsaDefault(
            "HATE", "HATE.PROTECTED_ATTR.SEX", False
        ),
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": DsaDefault(
            "VBDA", "VBDA.DOXXING", True
        ),
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": DsaDefault(
            "HATE", "HATE.INCITEMENT_TO_HATRED", False
        ),
        # Brand and trademark abuse is the part of IP enforcement that is about authenticity.
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": DsaDefault(
            "INA", "INA.IMPERSONATION", True
        ),
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": DsaDefault(
            "INA", "INA.ELECTION_INTEGRITY", False
        ),
        # The notifier gave no category at all; the free text, not this default, should decide.
        "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE": DsaDefault("INA", "INA.SPAM", True),
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": DsaDefault("INA", "INA.SPAM", True),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": DsaDefault("HEX", "HEX.GROOMING", False),
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": DsaDefault(
            "VBDA", "VBDA.EXTREMIST_ORGS", False
        ),
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": DsaDefault("INA", "INA.SCAMS", False),
        "STATEMENT_CATEGORY_SELF_HARM": DsaDefault("VBDA", "VBDA.SELF_HARM_PROMOTION", False),
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": DsaDefault(
            "VBDA", "VBDA.WEAPONS_TRADE", True
        ),
        "STATEMENT_CATEGORY_VIOLENCE": DsaDefault("VBDA", "VBDA.THREATS", False),
        # Legacy categories.
        "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR": DsaDefault(
            "HEX", "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY", False
        ),
        "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT": DsaDefault(
            "HEX", "HEX.COMMERCIAL_SEXUAL", True
        ),
        "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE": DsaDefault("INA", "INA.SPAM", True),
        "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS": DsaDefault(
            "VBDA", "VBDA.WEAPONS_TRADE", True
        ),
    }
)

# Keywords precise enough to beat their category's default. Child sexual abuse material is
# deliberately absent: it belongs to a dedicated child-safety process, not to this taxonomy.
DSA_KEYWORD_DEFAULTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "KEYWORD_ANIMAL_HARM": "VBDA.ANIMAL_CRUELTY",
        # Organising an attack is incitement that has moved on to logistics.
        "KEYWORD_COORDINATED_HARM": "VBDA.INCITEMENT",
        "KEYWORD_CYBER_INCITEMENT": "VBDA.INCITEMENT",
        "KEYWORD_DISCRIMINATION": "HATE.INCITEMENT_TO_HATRED",
        "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS": "HEX.GROOMING",
        "KEYWORD_HUMAN_EXPLOITATION": "HEX.FORCED_LABOUR",
        "KEYWORD_HUMAN_TRAFFICKING": "HEX.TRAFFICKING",
        "KEYWORD_ILLEGAL_ORGANIZATIONS": "VBDA.EXTREMIST_ORGS",
        "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING": "INA.IMPERSONATION",
        # Inauthentic accounts outside covert influence exist to fake reach and reviews.
        "KEYWORD_INAUTHENTIC_ACCOUNTS": "INA.FAKE_ENGAGEMENT",
        "KEYWORD_INAUTHENTIC_USER_REVIEWS": "INA.FAKE_ENGAGEMENT",
        "KEYWORD_INCITEMENT_AGAINST_WOMEN": "HATE.PROTECTED_ATTR.SEX",
        "KEYWORD_INCITEMENT_VIOLENCE_HATRED": "VBDA.INCITEMENT",
        "KEYWORD_MISINFORMATION_DISINFORMATION": "INA.MISINFORMATION",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING": "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN": "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY",
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE": "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY",
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN": (
            "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY"
        ),
        "KEYWORD_PHISHING": "INA.SCAMS",
        "KEYWORD_PYRAMID_SCHEMES": "INA.SCAMS",
        "KEYWORD_RISK_PUBLIC_HEALTH": "INA.MISINFORMATION",
        "KEYWORD_SELF_MUTILATION": "VBDA.SELF_HARM_PROMOTION",
        "KEYWORD_SUICIDE": "VBDA.SELF_HARM_PROMOTION",
        "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS": "VBDA.SELF_HARM_PROMOTION",
        "KEYWORD_TERRORIST_CONTENT": "VBDA.EXTREMIST_ORGS",
        "KEYWORD_TRAFFICKING_WOMEN_GIRLS": "HEX.TRAFFICKING",
        "KEYWORD_UNSAFE_CHALLENGES": "VBDA.DANGEROUS_CHALLENGES",
        # Legacy keywords.
        "KEYWORD_DISINFORMATION": "INA.MISINFORMATION",
        "KEYWORD_FOREIGN_INFORMATION_MANIPULATION": "INA.COVERT_INFLUENCE",
        "KEYWORD_IMAGE_BASED_SEXUAL_ABUSE": "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY",
        "KEYWORD_MISINFORMATION": "INA.MISINFORMATION",
        "KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE": "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY",
    }
)


def is_dsa_category(key: str) -> bool:
    """Whether ``key`` is a category key of the current or the legacy schema."""
    return key in DSA_CATEGORIES or key in DSA_LEGACY_CATEGORIES


def is_dsa_keyword(key: str) -> bool:
    """Whether ``key`` is a keyword key of the current or the legacy schema."""
    return key in DSA_KEYWORDS or key in DSA_LEGACY_KEYWORDS


def default_clause(category: str, keywords: Iterable[str] = ()) -> DsaDefault:
    """The clause an imported statement of reasons defaults to.

    The first keyword with a mapping wins over the category, because statements carry their
    most specific classification in ``category_specification``.
    """
    if not is_dsa_category(category):
        raise ValueError(f"unknown DSA category key {category!r}")
    for keyword in keywords:
        clause_id = DSA_KEYWORD_DEFAULTS.get(keyword)
        if clause_id is not None:
            return DsaDefault(clause_id.split(".", 1)[0], clause_id, False)
    return DSA_CATEGORY_DEFAULTS[category]
