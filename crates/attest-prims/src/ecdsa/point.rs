//! P-384 points for verification: affine table entries and a Jacobian accumulator, with the
//! a = -3 doubling and mixed addition formulas. Variable time: every input is public.
//!
//! The field arithmetic is fiat-crypto's ([`super::field`]); only the point formulas live here.

use alloc::vec::Vec;

use p384::elliptic_curve::sec1::ToSec1Point;

pub(crate) use super::field::Fe;

fn is_zero(value: &Fe) -> bool {
    value.is_zero()
}

/// A finite point in affine coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

impl Affine {
    /// The point of a p384 affine point, `None` for the identity.
    pub(crate) fn from_p384(point: &p384::AffinePoint) -> Option<Self> {
        let encoded = point.to_sec1_point(false);
        let x = encoded.x()?;
        let y = encoded.y()?;
        let x = Fe::from_be_bytes(&(*x).into())?;
        let y = Fe::from_be_bytes(&(*y).into())?;
        Some(Self { x, y })
    }

    /// The generator.
    pub(crate) fn generator() -> Self {
        Self::from_p384(&p384::AffinePoint::GENERATOR).unwrap_or(Self {
            x: Fe::ZERO,
            y: Fe::ZERO,
        })
    }

    /// `-self`.
    pub(crate) fn neg(&self) -> Self {
        Self {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

/// A point in Jacobian coordinates (x = X/Z², y = Y/Z³); Z = 0 is the identity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
    pub(crate) z: Fe,
}

impl Jacobian {
    pub(crate) const IDENTITY: Self = Self {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    pub(crate) fn from_affine(point: &Affine) -> Self {
        Self {
            x: point.x,
            y: point.y,
            z: Fe::ONE,
        }
    }

    pub(crate) fn is_identity(&self) -> bool {
        is_zero(&self.z)
    }

    /// `2 * self` (dbl-2001-b for a = -3, with Z3 = 2YZ: 4M + 4S and fewer additions, which
    /// cost a fifth of a multiplication each here).
    pub(crate) fn double(&self) -> Self {
        if self.is_identity() || is_zero(&self.y) {
            return Self::IDENTITY;
        }
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.multiply(&gamma);
        let t = self.x.sub(&delta).multiply(&self.x.add(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.multiply(&self.z).double();
        let gamma_sq8 = gamma.double().square().double();
        let y3 = alpha.multiply(&beta4.sub(&x3)).sub(&gamma_sq8);
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + other` with `other` affine (madd-2007-bl: 7M + 4S), handling every special case.
    pub(crate) fn add_affine(&self, other: &Affine) -> Self {
        if self.is_identity() {
            return Self::from_affine(other);
        }
        let z1z1 = self.z.square();
        let u2 = other.x.multiply(&z1z1);
        let s2 = other.y.multiply(&self.z).multiply(&z1z1);
        let h = u2.sub(&self.x);
        let r = s2.sub(&self.y).double();
        if is_zero(&h) {
            return if is_zero(&r) {
                Self::from_affine(other).double()
            } else {
                Self::IDENTITY
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h.multiply(&i);
        let v = self.x.multiply(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.multiply(&v.sub(&x3)).sub(&self.y.multiply(&j).double());
        let z3 = self.z.add(&h).square().sub(&z1z1).sub(&hh);
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + other`, both Jacobian (add-2007-bl: 11M + 5S), handling every special case.
    pub(crate) fn add(&self, other: &Self) -> Self {
        if self.is_identity() {
            return *other;
        }
        if other.is_identity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = other.z.square();
        let u1 = self.x.multiply(&z2z2);
        let u2 = other.x.multiply(&z1z1);
        let s1 = self.y.multiply(&other.z).multiply(&z2z2);
        let s2 = other.y.multiply(&self.z).multiply(&z1z1);
        let h = u2.sub(&u1);
        let r = s2.sub(&s1).double();
        if is_zero(&h) {
            return if is_zero(&r) {
                self.double()
            } else {
                Self::IDENTITY
            };
        }
        let i = h.double().square();
        let j = h.multiply(&i);
        let v = u1.multiply(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.multiply(&v.sub(&x3)).sub(&s1.multiply(&j).double());
        let z3 = self
            .z
            .add(&other.z)
            .square()
            .sub(&z1z1)
            .sub(&z2z2)
            .multiply(&h);
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// Whether the affine x coordinate equals `x` (no inversion: X == x * Z²).
    pub(crate) fn x_equals(&self, x: &Fe) -> bool {
        !self.is_identity() && self.x == x.multiply(&self.z.square())
    }
}

/// Converts points to affine with one inversion (Montgomery's trick). `None` if any point is
/// the identity (callers build tables of points that cannot be).
pub(crate) fn normalize_all(points: &[Jacobian]) -> Option<Vec<Affine>> {
    let mut prefix = Vec::with_capacity(points.len());
    let mut product = Fe::ONE;
    for point in points {
        if point.is_identity() {
            return None;
        }
        prefix.push(product);
        product = product.multiply(&point.z);
    }
    let mut inverse = product.invert_vartime()?;
    let mut out = Vec::with_capacity(points.len());
    for (point, before) in points.iter().zip(prefix.iter()).rev() {
        let z_inv = inverse.multiply(before);
        inverse = inverse.multiply(&point.z);
        let z_inv2 = z_inv.square();
        out.push(Affine {
            x: point.x.multiply(&z_inv2),
            y: point.y.multiply(&z_inv2.multiply(&z_inv)),
        });
    }
    out.reverse();
    Some(out)
}
