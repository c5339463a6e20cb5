"""Who must approve what, and whether they did: the policy (which changes need approval), the
reviews of a pull request, a pull request's plan judged by its base, and the apply on main that
walks merged pull requests one by one under their own approvals."""
