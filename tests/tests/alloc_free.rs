//! Building the HCL and SNP views allocates nothing: a counting global allocator proves it.
//! This is the one place in the workspace with `unsafe` (the `GlobalAlloc` impl).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use hcl_parse::HclReport;
use snp_vtpm_testkit::vectors;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        BYTES.fetch_add(layout.size(), Ordering::SeqCst);
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract, which System shares.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn hcl_and_snp_views_allocate_nothing() {
    let inputs: Vec<Vec<u8>> = vectors::azure_snp_reports()
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    let before = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    let mut checksum = 0u64;
    for nv in &inputs {
        let hcl = HclReport::parse(nv).expect("real report parses");
        let snp = hcl.snp_report().expect("SNP report");
        checksum = checksum
            .wrapping_add(u64::from(snp.version()))
            .wrapping_add(snp.reported_tcb().to_u64())
            .wrapping_add(hcl.runtime_claims_bytes().len() as u64)
            .wrapping_add(snp.signed_bytes().len() as u64);
        let _ = std::hint::black_box(snp.generation());
    }
    let after = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    assert!(checksum > 0);
    assert_eq!(
        after, before,
        "allocations (count, bytes) while building views"
    );
    // The counter works: the claims JSON (a Vec of keys) does allocate.
    let hcl = HclReport::parse(&inputs[0]).unwrap();
    let _claims = hcl.runtime_claims().unwrap();
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > after.0);
}
