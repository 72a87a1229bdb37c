-- Calibration programmes (pp_insights.calibration): golden sets of cases with the answers the
-- policy owners expect, exercises in which moderators answer them, and their answers.
-- Record-style tables, written and read through SQLModel (calibration/tables.py).

-- A named set of cases, versioned: creating a set under a name that exists makes its next
-- version. clauses: the answers its exercises accept besides 'none' (the clause ids of its
-- taxonomy version); NULL accepts any well-formed clause id.
CREATE TABLE insights.golden_sets (
    golden_set_id    bigserial PRIMARY KEY,
    name             text        NOT NULL,
    version          integer     NOT NULL CHECK (version >= 1),
    taxonomy_version text,
    clauses          text[],
    cases            integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    created_by       text        NOT NULL,
    UNIQUE (name, version)
);

-- expected_clause_id: a clause id, 'none' (no violation), or NULL (no expected answer).
CREATE TABLE insights.golden_cases (
    golden_set_id      bigint  NOT NULL REFERENCES insights.golden_sets ON DELETE CASCADE,
    case_id            text    NOT NULL,
    position           integer NOT NULL,
    text               text,
    content_ref        text,
    expected_clause_id text,
    rationale          text,
    PRIMARY KEY (golden_set_id, case_id),
    CHECK (text IS NOT NULL OR content_ref IS NOT NULL)
);

CREATE TABLE insights.calibration_exercises (
    exercise_id   bigserial PRIMARY KEY,
    name          text        NOT NULL,
    golden_set_id bigint      NOT NULL REFERENCES insights.golden_sets,
    state         text        NOT NULL CHECK (state IN ('open', 'closed')),
    created_at    timestamptz NOT NULL,
    created_by    text        NOT NULL,
    closed_at     timestamptz,
    closed_by     text
);
CREATE INDEX calibration_exercises_golden_set_idx
    ON insights.calibration_exercises (golden_set_id);

-- The moderators of an exercise (pseudonymous ids) with their cohort attributes; a moderator
-- who answers before being named joins without attributes.
CREATE TABLE insights.calibration_moderators (
    exercise_id  bigint NOT NULL REFERENCES insights.calibration_exercises ON DELETE CASCADE,
    moderator_id text   NOT NULL,
    region       text,
    language     text,
    tier         text,
    vendor_site  text,
    PRIMARY KEY (exercise_id, moderator_id)
);

-- One answer per moderator and case: an answer sent again replaces the earlier one.
CREATE TABLE insights.calibration_responses (
    exercise_id  bigint      NOT NULL,
    moderator_id text        NOT NULL,
    case_id      text        NOT NULL,
    clause_id    text        NOT NULL,
    confidence   double precision CHECK (confidence >= 0 AND confidence <= 1),
    reason       text,
    answered_at  timestamptz NOT NULL,
    recorded_by  text        NOT NULL,
    PRIMARY KEY (exercise_id, moderator_id, case_id),
    FOREIGN KEY (exercise_id, moderator_id)
        REFERENCES insights.calibration_moderators ON DELETE CASCADE
);
