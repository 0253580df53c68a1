"""LIBERO without the Hub: asset set-up, scripted expert, demonstration recorder, training/evaluation runner."""
