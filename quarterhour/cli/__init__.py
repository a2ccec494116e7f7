"""The command line: ``quarterhour run|site|report|batch|scenarios|users|login ...``."""
