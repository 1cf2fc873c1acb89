"""Task Lambdas of the order-processing saga and the stuck-order sweep."""
