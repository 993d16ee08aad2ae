// RingGateway
