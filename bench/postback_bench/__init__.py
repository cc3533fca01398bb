"""`postback-bench`: the service under realistic postback traffic, against the machine's
ceiling; and the dashboard, question and fault runs."""
