"""nbgrader in a student's server on the course hub: the exchange and the course, nothing else.

The hub puts this folder on the server's JUPYTER_CONFIG_PATH and sets both values from its settings
(RNNLAB_HUB_EXCHANGE, RNNLAB_HUB_COURSE_ID). Students fetch, validate and submit in the Assignments
panel; they have no gradebook, no source and no Formgrader.
"""

import os

c = get_config()  # noqa: F821

c.Exchange.root = os.environ.get("RNNLAB_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = os.environ.get("RNNLAB_COURSE_ID", "rnnlab-zh")
# A full exchange disk: one Chinese sentence, and no half-written submission left (rnnlab/exchange.py).
c.ExchangeFactory.submit = "rnnlab.exchange.Submit"
