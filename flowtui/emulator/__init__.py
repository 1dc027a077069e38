"""A local stand-in for Diga, GASSAPI, Runflow and Bitrix24 (shares no code with the client)."""
