//! Length and range arithmetic never panics (debug assertions catch overflow) and plans stay
//! inside the sealed object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_fuzz::RangeInput;

fuzz_target!(|input: RangeInput| {
    let Some(g) = input.geometry() else { return };
    if let Ok(p) = g.plaintext_len(input.sealed_len) {
        assert_eq!(g.sealed_len(p), Some(input.sealed_len));
    }
    let range = input.start..input.end;
    if let (Some(sealed), Ok(plan)) = (
        g.sealed_len(input.plaintext_len),
        g.plan_range(input.plaintext_len, range.clone()),
    ) {
        assert_eq!(plan.len, input.end - input.start);
        assert!(
            g.header <= plan.sealed.start
                && plan.sealed.start <= plan.sealed.end
                && plan.sealed.end <= sealed
        );
        assert!(
            plan.len == 0
                || (plan.first <= plan.last
                    && plan.last <= plan.final_index
                    && plan.skip < g.chunk)
        );
    }
    let Some(layout) = input.layout(g) else {
        return;
    };
    if let Ok(plan) = layout.plan_range(range) {
        assert_eq!(
            plan.iter().map(|p| p.chunks.len).sum::<u64>(),
            input.end - input.start
        );
        for p in &plan {
            let part = layout
                .part_sealed_range(p.position)
                .expect("planned part exists");
            assert!(part.start == p.header.start && p.header.end <= p.chunks.sealed.start);
            assert!(p.chunks.sealed.end <= part.end);
        }
    }
});
