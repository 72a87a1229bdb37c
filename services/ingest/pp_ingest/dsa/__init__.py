"""Import of EU DSA statements of reasons (the Transparency Database's API JSON and its CSV
export): each valid statement becomes an escalation and a decision that take intake's path."""
