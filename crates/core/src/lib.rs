//! puntos
