"""gRPC adapters: request -> port call -> response. Which services run where is
node.runtime.registry."""
