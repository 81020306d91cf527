"""Helpers of the e2e tests whose pages fail on purpose."""


def refuse_collector(context) -> list:
    """The collector requests of this context, recorded and never delivered: the snippet
    sends the calls it kept when the page goes away (here, when the context closes), which
    must not reach the suite's collector after this test."""
    sent = []

    def refuse(route):
        sent.append(route.request.url)
        try:
            route.abort()
        except Exception:  # the context is closing
            pass

    context.route("**/v1/**", refuse)
    return sent
