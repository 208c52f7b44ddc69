"""The three jobs, one module each (``replicate``, ``replicate_tags``, ``conditional_replicate``), with what they
share: the candidates, the cursor, the summary, the fail-fast rule. DAGs, operators, CLI and library all call these.
"""
