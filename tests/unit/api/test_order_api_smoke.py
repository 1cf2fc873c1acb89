from order_api_support import Invoke, TokenFactory, api_event


def test_smoke(call: Invoke, tokens: TokenFactory) -> None:
    answer = call(api_event("post_orders", token=tokens.customer()))
    print(answer)
    assert answer.status == 202
