"""nbgrader in the grader account's Formgrader on the course hub: the exchange and the course.

The rest (the gradebook, the course's plug-ins) comes from nbgrader_config.py of the course directory
the server runs in. The hub sets both values from its settings (RNNLAB_HUB_EXCHANGE, RNNLAB_HUB_COURSE_ID).
"""

import os

c = get_config()  # noqa: F821

c.Exchange.root = os.environ.get("RNNLAB_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = os.environ.get("RNNLAB_COURSE_ID", "rnnlab-zh")
# A full exchange disk: one Chinese sentence, and no half-written release or feedback page left
# (rnnlab/exchange.py).
c.ExchangeFactory.release_assignment = "rnnlab.exchange.ReleaseAssignment"
c.ExchangeFactory.release_feedback = "rnnlab.exchange.ReleaseFeedback"
