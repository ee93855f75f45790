"""Adaptive practice: turning the learner model into the next problem.

- catalog: the finer skills (MATH subjects, GSM8K word-problem kinds) and the teacher's areas they roll up to
- bank: a class's problem bank (dataset, teacher-typed, generated) with skills, difficulty and answers
- policy: the next problem (assigned first, then due reviews, then the weakest ready skill) and why
- review: the spaced-review schedule of mastered skills
- evidence: which attempts count as evidence of knowing
- fit: BKT parameters per skill fitted from a class's attempt history
- templates, variants: new problems whose answer keys are computed and confirmed twice
- simulation: BKT learners run through the policy and through random order
- progress: the student's progress page and the teacher's "who needs help now"
- service: the facade app/ and the CLI call
"""
