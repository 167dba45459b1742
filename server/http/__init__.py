"""HTTP helpers shared by every route module."""

from server.http.problem import ProblemError, problem_response

__all__ = ["ProblemError", "problem_response"]
