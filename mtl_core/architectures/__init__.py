"""Network architectures; each module exposes a builder ``build(config, prepared) -> keras.Model``."""
