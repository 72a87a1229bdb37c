"""Where clauses blur in practice: clause confusion from QA corrections and from automatic
tags against final decisions, and an enforceability card per clause."""
