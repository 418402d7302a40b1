"""Integrity analytics of an exam: response times, answer changes, seat similarity, person fit.

Pure numpy on plain arrays (see :mod:`scoring.integrity.common` for the response codes); the
app feeds the arrays and shows the results. Every flag is evidence for a committee's decision,
never a decision. Modules: :mod:`~scoring.integrity.timing`, :mod:`~scoring.integrity.erasure`,
:mod:`~scoring.integrity.similarity`, :mod:`~scoring.integrity.person_fit` and
:mod:`~scoring.integrity.evidence`, which runs them all and ranks the attempts.
"""
