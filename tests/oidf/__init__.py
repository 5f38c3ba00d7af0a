"""Black-box re-implementations of OpenID Foundation conformance modules (one test per
module, named after it), run against Gatehouse's HTTP surface."""
