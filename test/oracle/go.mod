module cilium-guard.local/oracle

go 1.25
