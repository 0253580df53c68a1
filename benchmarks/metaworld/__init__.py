"""Meta-World: scripted-expert demonstrations, the side-by-side benchmark and its diagnostics."""
