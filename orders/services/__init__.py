"""Order pipeline services: intake, reservation, routing, dispatch, fulfilment, tracking."""
