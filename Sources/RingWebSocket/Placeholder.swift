import CRingCore
