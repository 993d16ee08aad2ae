// RingEngine
