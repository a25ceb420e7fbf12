"""Answer sets for the grading tests, one module per assignment (named by its id).

Each module holds plain data: TESTS_OF (a solution cell's grade_id -> its autograded test
cells, visible checks first: a contract item with its own points has its own visible check), CORRECT (name -> {grade_id: code}: full marks) and WRONG
(name -> (grade_id, code, caught_by_visible): loses points in that question's tests, and in
one of its visible checks too when caught_by_visible). tests/test_assignments.py runs them all.
"""
