"""Tables and charts rendered from the result store; never imports torch."""
